ALTER TABLE "actions" ADD COLUMN "threat_key" text;--> statement-breakpoint
ALTER TABLE "slack_messages" ADD COLUMN "threat_key" text;--> statement-breakpoint
CREATE INDEX "actions_pending_threat_idx" ON "actions" USING btree ("threat_key","created_at") WHERE "actions"."status" = 'pending' and "actions"."threat_key" is not null;--> statement-breakpoint
CREATE INDEX "slack_messages_threat_idx" ON "slack_messages" USING btree ("channel","threat_key","created_at" DESC NULLS LAST) WHERE "slack_messages"."threat_key" is not null;