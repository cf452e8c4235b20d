CREATE TABLE "connector_cursors" (
	"stream" text PRIMARY KEY NOT NULL,
	"state" jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "connector_leases" (
	"name" text PRIMARY KEY NOT NULL,
	"holder" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"acquired_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "defender_alert_actions" (
	"action_id" bigint PRIMARY KEY NOT NULL,
	"alert_id" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "defender_alerts" (
	"id" text PRIMARY KEY NOT NULL,
	"incident_id" text,
	"investigation_id" text,
	"title" text NOT NULL,
	"severity" text NOT NULL,
	"status" text NOT NULL,
	"assigned_to" text,
	"classification" text,
	"determination" text,
	"machine_id" text,
	"computer_dns_name" text,
	"last_update_time" timestamp with time zone,
	"resolved_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "defender_investigations" (
	"id" text PRIMARY KEY NOT NULL,
	"state" text NOT NULL,
	"status_details" text,
	"machine_id" text,
	"computer_dns_name" text,
	"triggering_alert_id" text,
	"start_time" timestamp with time zone,
	"end_time" timestamp with time zone,
	"cancelled_by" text,
	"slack_message_id" bigint NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "defender_alert_actions" ADD CONSTRAINT "defender_alert_actions_action_id_actions_id_fk" FOREIGN KEY ("action_id") REFERENCES "public"."actions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "defender_alert_actions" ADD CONSTRAINT "defender_alert_actions_alert_id_defender_alerts_id_fk" FOREIGN KEY ("alert_id") REFERENCES "public"."defender_alerts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "defender_investigations" ADD CONSTRAINT "defender_investigations_slack_message_id_slack_messages_id_fk" FOREIGN KEY ("slack_message_id") REFERENCES "public"."slack_messages"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "defender_alert_actions_alert_idx" ON "defender_alert_actions" USING btree ("alert_id");--> statement-breakpoint
CREATE UNIQUE INDEX "defender_investigations_message_uq" ON "defender_investigations" USING btree ("slack_message_id");--> statement-breakpoint
CREATE INDEX "defender_investigations_pending_idx" ON "defender_investigations" USING btree ("id") WHERE "defender_investigations"."state" = 'PendingApproval';