ALTER TABLE "slack_messages" ADD COLUMN "version" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "slack_messages" ADD COLUMN "rendered_version" integer DEFAULT -1 NOT NULL;--> statement-breakpoint
ALTER TABLE "slack_messages" ADD COLUMN "threaded_event_id" bigint DEFAULT 0 NOT NULL;