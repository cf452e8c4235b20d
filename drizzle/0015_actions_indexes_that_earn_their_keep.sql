DROP INDEX "actions_type_id_idx";--> statement-breakpoint
DROP INDEX "actions_source_id_idx";