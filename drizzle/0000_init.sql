CREATE TABLE "action_events" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "action_events_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"action_id" bigint NOT NULL,
	"at" timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
	"kind" text NOT NULL,
	"actor" text NOT NULL,
	"detail" jsonb DEFAULT '{}'::jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "actions" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "actions_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"external_id" text NOT NULL,
	"source" text NOT NULL,
	"type" text NOT NULL,
	"status" text NOT NULL,
	"investigation_id" text,
	"incident_id" text,
	"device_id" text,
	"device_name" text,
	"entity" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"sha256" text,
	"requested_by" text,
	"comment" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"decided_by" text,
	"decided_at" timestamp with time zone,
	"decision_comment" text,
	"completed_at" timestamp with time zone,
	"error" text,
	"undo_data" jsonb,
	"attempt" integer DEFAULT 1 NOT NULL,
	"undo_attempt" integer DEFAULT 0 NOT NULL,
	"slack_message_id" bigint
);
--> statement-breakpoint
CREATE TABLE "backend_runs" (
	"action_id" bigint NOT NULL,
	"operation" text NOT NULL,
	"attempt" integer NOT NULL,
	"count" integer DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "backend_runs_action_id_operation_attempt_pk" PRIMARY KEY("action_id","operation","attempt")
);
--> statement-breakpoint
CREATE TABLE "blocked_urls" (
	"url" text PRIMARY KEY NOT NULL,
	"action_id" bigint NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "device_drivers" (
	"device_id" text NOT NULL,
	"name" text NOT NULL,
	"enabled" boolean NOT NULL,
	"start_type" text DEFAULT 'system' NOT NULL,
	CONSTRAINT "device_drivers_device_id_name_pk" PRIMARY KEY("device_id","name")
);
--> statement-breakpoint
CREATE TABLE "device_files" (
	"device_id" text NOT NULL,
	"sha256" text NOT NULL,
	"path" text,
	"state" text NOT NULL,
	CONSTRAINT "device_files_device_id_sha256_pk" PRIMARY KEY("device_id","sha256")
);
--> statement-breakpoint
CREATE TABLE "device_processes" (
	"device_id" text NOT NULL,
	"pid" integer NOT NULL,
	"image_path" text,
	"running" boolean DEFAULT true NOT NULL,
	CONSTRAINT "device_processes_device_id_pid_pk" PRIMARY KEY("device_id","pid")
);
--> statement-breakpoint
CREATE TABLE "device_registry_values" (
	"device_id" text NOT NULL,
	"key" text NOT NULL,
	"value_name" text DEFAULT '' NOT NULL,
	"value_type" text DEFAULT 'REG_SZ' NOT NULL,
	"data" text DEFAULT '' NOT NULL,
	"present" boolean DEFAULT true NOT NULL,
	CONSTRAINT "device_registry_values_device_id_key_value_name_pk" PRIMARY KEY("device_id","key","value_name")
);
--> statement-breakpoint
CREATE TABLE "device_scheduled_tasks" (
	"device_id" text NOT NULL,
	"path" text NOT NULL,
	"definition" jsonb NOT NULL,
	"present" boolean DEFAULT true NOT NULL,
	CONSTRAINT "device_scheduled_tasks_device_id_path_pk" PRIMARY KEY("device_id","path")
);
--> statement-breakpoint
CREATE TABLE "device_services" (
	"device_id" text NOT NULL,
	"name" text NOT NULL,
	"state" text NOT NULL,
	"start_type" text NOT NULL,
	CONSTRAINT "device_services_device_id_name_pk" PRIMARY KEY("device_id","name")
);
--> statement-breakpoint
CREATE TABLE "devices" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"isolated" boolean DEFAULT false NOT NULL,
	"code_execution_restricted" boolean DEFAULT false NOT NULL,
	"online" boolean DEFAULT true NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "investigations" (
	"id" text PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "outbox" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "outbox_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"topic" text NOT NULL,
	"payload" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "slack_messages" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "slack_messages_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"channel" text NOT NULL,
	"ts" text,
	"investigation_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "action_events" ADD CONSTRAINT "action_events_action_id_actions_id_fk" FOREIGN KEY ("action_id") REFERENCES "public"."actions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "actions" ADD CONSTRAINT "actions_investigation_id_investigations_id_fk" FOREIGN KEY ("investigation_id") REFERENCES "public"."investigations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "actions" ADD CONSTRAINT "actions_slack_message_id_slack_messages_id_fk" FOREIGN KEY ("slack_message_id") REFERENCES "public"."slack_messages"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "device_drivers" ADD CONSTRAINT "device_drivers_device_id_devices_id_fk" FOREIGN KEY ("device_id") REFERENCES "public"."devices"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "device_files" ADD CONSTRAINT "device_files_device_id_devices_id_fk" FOREIGN KEY ("device_id") REFERENCES "public"."devices"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "device_processes" ADD CONSTRAINT "device_processes_device_id_devices_id_fk" FOREIGN KEY ("device_id") REFERENCES "public"."devices"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "device_registry_values" ADD CONSTRAINT "device_registry_values_device_id_devices_id_fk" FOREIGN KEY ("device_id") REFERENCES "public"."devices"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "device_scheduled_tasks" ADD CONSTRAINT "device_scheduled_tasks_device_id_devices_id_fk" FOREIGN KEY ("device_id") REFERENCES "public"."devices"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "device_services" ADD CONSTRAINT "device_services_device_id_devices_id_fk" FOREIGN KEY ("device_id") REFERENCES "public"."devices"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "action_events_action_idx" ON "action_events" USING btree ("action_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "actions_source_external_id_uq" ON "actions" USING btree ("source","external_id");--> statement-breakpoint
CREATE INDEX "actions_status_id_idx" ON "actions" USING btree ("status","id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "actions_type_id_idx" ON "actions" USING btree ("type","id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "actions_device_id_idx" ON "actions" USING btree ("device_id","id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "actions_investigation_id_idx" ON "actions" USING btree ("investigation_id","id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "actions_sha256_id_idx" ON "actions" USING btree ("sha256","id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "actions_slack_message_idx" ON "actions" USING btree ("slack_message_id");--> statement-breakpoint
CREATE INDEX "device_files_sha256_idx" ON "device_files" USING btree ("sha256");--> statement-breakpoint
CREATE INDEX "slack_messages_channel_ts_idx" ON "slack_messages" USING btree ("channel","ts");