CREATE TABLE "private_replies" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "private_replies_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"slack_user_id" text NOT NULL,
	"response_url" text NOT NULL,
	"source" text NOT NULL,
	"note" text,
	"action_ids" bigint[] NOT NULL,
	"uses" integer DEFAULT 1 NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"version" integer DEFAULT 0 NOT NULL,
	"rendered_version" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "private_replies_action_ids_idx" ON "private_replies" USING gin ("action_ids");--> statement-breakpoint
CREATE INDEX "private_replies_expires_at_idx" ON "private_replies" USING btree ("expires_at");