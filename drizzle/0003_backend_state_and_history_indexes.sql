ALTER TABLE "actions" ADD COLUMN "backend_state" jsonb;--> statement-breakpoint
CREATE INDEX "actions_source_id_idx" ON "actions" USING btree ("source","id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "actions_decided_by_id_idx" ON "actions" USING btree ("decided_by","id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "actions_created_at_idx" ON "actions" USING btree ("created_at" DESC NULLS LAST);