// Slack calls made by queue workers: a rate limit pauses the whole queue instead of failing the job.
import { Worker } from "bullmq";
import type { AppContext } from "../context.ts";

/** What Slack's rate-limit error carries; the worker's client raises it instead of waiting itself. */
function retryAfterMs(error: unknown): number | null {
  const e = error as { code?: string; retryAfter?: number };
  return e?.code === "slack_webapi_rate_limited_error" ? Math.max(1, e.retryAfter ?? 1) * 1000 : null;
}

export async function slackCall<T>(
  ctx: AppContext,
  worker: Worker,
  method: string,
  call: () => Promise<T>,
): Promise<T> {
  try {
    const result = await call();
    ctx.metrics.slackCalls.inc({ method, outcome: "ok" });
    return result;
  } catch (error) {
    const wait = retryAfterMs(error);
    if (wait === null) {
      ctx.metrics.slackCalls.inc({ method, outcome: "error" });
      throw error;
    }
    // Slack asked us to slow down: the whole queue waits, and this job is not charged an attempt.
    ctx.metrics.slackCalls.inc({ method, outcome: "rate_limited" });
    await worker.rateLimit(wait);
    throw Worker.RateLimitError();
  }
}
