CREATE TABLE "slack_deliveries" (
	"key" text PRIMARY KEY NOT NULL,
	"claimed_at" timestamp with time zone DEFAULT now() NOT NULL,
	"handled_at" timestamp with time zone,
	"deliveries" integer DEFAULT 1 NOT NULL
);
--> statement-breakpoint
CREATE INDEX "slack_deliveries_claimed_at" ON "slack_deliveries" USING btree ("claimed_at");