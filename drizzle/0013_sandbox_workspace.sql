CREATE TABLE "sandbox_workspace" (
	"id" integer PRIMARY KEY DEFAULT 1 NOT NULL,
	"state" jsonb NOT NULL,
	"saved_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "sandbox_workspace_one_row" CHECK ("sandbox_workspace"."id" = 1)
);
