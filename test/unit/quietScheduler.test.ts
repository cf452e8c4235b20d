import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { quietScheduler } from "../../src/slack/endpoint.ts";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("quietScheduler", () => {
  it("runs work once nothing new has arrived for the quiet time", () => {
    const ran: number[] = [];
    const later = quietScheduler(3, 100);
    later(() => ran.push(1));
    vi.advanceTimersByTime(2);
    later(() => ran.push(2));
    vi.advanceTimersByTime(2);
    expect(ran).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(ran).toEqual([1, 2]);
  });

  it("under a steady stream, runs what waits no later than the longest wait after the first", () => {
    const ran: number[] = [];
    const later = quietScheduler(3, 100);
    for (let t = 0; t < 99; t += 1) {
      later(() => ran.push(t));
      vi.advanceTimersByTime(1);
    }
    expect(ran).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(ran).toHaveLength(99);
  });

  it("a hold keeps the burst open until released, and never past the longest wait", () => {
    const ran: number[] = [];
    const later = quietScheduler(3, 100);
    later(() => ran.push(1));
    const release = later.hold();
    vi.advanceTimersByTime(50);
    expect(ran).toEqual([]);
    release();
    release();
    vi.advanceTimersByTime(3);
    expect(ran).toEqual([1]);

    later(() => ran.push(2));
    later.hold();
    vi.advanceTimersByTime(99);
    expect(ran).toEqual([1]);
    vi.advanceTimersByTime(1);
    expect(ran).toEqual([1, 2]);
  });

  it("flush runs what waits at once, and only once", () => {
    const ran: number[] = [];
    const later = quietScheduler(3, 100);
    later(() => ran.push(1));
    later.flush();
    expect(ran).toEqual([1]);
    vi.advanceTimersByTime(10);
    expect(ran).toEqual([1]);
  });
});
