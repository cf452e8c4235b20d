CREATE TABLE "step_ups" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "step_ups_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"token_hash" text NOT NULL,
	"action_id" bigint NOT NULL,
	"decision" text NOT NULL,
	"slack_user_id" text NOT NULL,
	"slack_email" text,
	"status" text DEFAULT 'open' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"started_at" timestamp with time zone,
	"state_hash" text,
	"nonce" text,
	"code_verifier" text,
	"browser_hash" text,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "step_ups" ADD CONSTRAINT "step_ups_action_id_actions_id_fk" FOREIGN KEY ("action_id") REFERENCES "public"."actions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "step_ups_token_hash_uq" ON "step_ups" USING btree ("token_hash");--> statement-breakpoint
CREATE UNIQUE INDEX "step_ups_state_hash_uq" ON "step_ups" USING btree ("state_hash");--> statement-breakpoint
CREATE INDEX "step_ups_open_idx" ON "step_ups" USING btree ("action_id") WHERE "step_ups"."status" in ('open', 'signing_in');