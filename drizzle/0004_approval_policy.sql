CREATE TABLE "action_approvals" (
	"action_id" bigint NOT NULL,
	"user_id" text NOT NULL,
	"at" timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
	CONSTRAINT "action_approvals_action_id_user_id_pk" PRIMARY KEY("action_id","user_id")
);
--> statement-breakpoint
ALTER TABLE "actions" ADD COLUMN "expires_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "actions" ADD COLUMN "approvals_needed" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "action_approvals" ADD CONSTRAINT "action_approvals_action_id_actions_id_fk" FOREIGN KEY ("action_id") REFERENCES "public"."actions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "actions_pending_expires_at_idx" ON "actions" USING btree ("expires_at") WHERE "actions"."status" = 'pending';