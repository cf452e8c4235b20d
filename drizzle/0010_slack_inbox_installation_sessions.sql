CREATE TABLE "installation" (
	"singleton" boolean PRIMARY KEY DEFAULT true NOT NULL,
	"id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "installation_singleton" CHECK ("installation"."singleton")
);
--> statement-breakpoint
CREATE TABLE "live_response_leases" (
	"device_id" text PRIMARY KEY NOT NULL,
	"action_id" bigint NOT NULL,
	"operation" text NOT NULL,
	"attempt" integer NOT NULL,
	"acquired_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "slack_inbox" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "slack_inbox_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"request_key" text NOT NULL,
	"kind" text NOT NULL,
	"payload" jsonb NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"claimed_until" timestamp with time zone NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"done_at" timestamp with time zone,
	"outcome" text
);
--> statement-breakpoint
ALTER TABLE "live_response_leases" ADD CONSTRAINT "live_response_leases_action_id_actions_id_fk" FOREIGN KEY ("action_id") REFERENCES "public"."actions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "slack_inbox_request_key_uq" ON "slack_inbox" USING btree ("request_key");--> statement-breakpoint
CREATE INDEX "slack_inbox_open_idx" ON "slack_inbox" USING btree ("claimed_until") WHERE "slack_inbox"."done_at" is null;--> statement-breakpoint
CREATE INDEX "slack_inbox_received_at_idx" ON "slack_inbox" USING btree ("received_at");