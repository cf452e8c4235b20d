import { createHash, timingSafeEqual } from "node:crypto";
import type { RequestHandler } from "express";

/** Compares digests, so the time taken says nothing about how much of the token matched. */
function tokensMatch(presented: string, expected: string): boolean {
  const a = createHash("sha256").update(presented).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

export function requireBearer(expected: string): RequestHandler {
  return (req, res, next) => {
    const header = req.get("authorization") ?? "";
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match || !tokensMatch(match[1]!, expected)) {
      res
        .status(401)
        .set("WWW-Authenticate", 'Bearer realm="action-center"')
        .json({ error: "unauthorized", message: "send Authorization: Bearer <INGEST_TOKEN>" });
      return;
    }
    next();
  };
}
