import { describe, expect, it } from "vitest";
import { createLane } from "../../src/lib/lane.ts";

describe("lane", () => {
  it("runs at most `width` at once, all of them, in arrival order, and passes results and errors through", async () => {
    const inLane = createLane(3);
    let running = 0;
    let peak = 0;
    const started: number[] = [];
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        inLane(async () => {
          started.push(i);
          running += 1;
          peak = Math.max(peak, running);
          await new Promise((r) => setTimeout(r, 5));
          running -= 1;
          if (i === 7) throw new Error("seven");
          return i * 2;
        }),
      ),
    );
    expect(peak).toBe(3);
    expect(started).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(results[7]).toMatchObject({ status: "rejected", reason: new Error("seven") });
    expect(results[8]).toEqual({ status: "fulfilled", value: 16 });
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(19);
  });
});
