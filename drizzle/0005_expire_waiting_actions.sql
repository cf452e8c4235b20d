-- Actions already waiting when expiry arrived get the default time-to-live from their arrival,
-- so that the expiry sweep catches them too (they have no timer in the queue).
UPDATE "actions" SET "expires_at" = "created_at" + interval '7 days'
WHERE "status" = 'pending' AND "expires_at" IS NULL;
