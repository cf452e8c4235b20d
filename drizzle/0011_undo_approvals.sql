ALTER TABLE "action_approvals" ADD COLUMN "operation" text DEFAULT 'approve' NOT NULL;--> statement-breakpoint
ALTER TABLE "action_approvals" DROP CONSTRAINT "action_approvals_action_id_user_id_pk";--> statement-breakpoint
ALTER TABLE "action_approvals" ADD CONSTRAINT "action_approvals_action_id_operation_user_id_pk" PRIMARY KEY("action_id","operation","user_id");--> statement-breakpoint
ALTER TABLE "actions" ADD COLUMN "undo_approvals_needed" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
-- Actions stored before the undo rule: those the two-person rule covered need as many for undo.
UPDATE "actions" SET "undo_approvals_needed" = "approvals_needed" WHERE "approvals_needed" > 1;
