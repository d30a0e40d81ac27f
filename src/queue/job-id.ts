import { createHash } from "node:crypto";

/**
 * The job id for a delivery: a UUID derived from the delivery id (the way RFC 9562 version 8
 * allows), so sending the same delivery twice names the same job and the queue keeps one.
 */
export function jobIdForDelivery(deliveryId: string): string {
  return derivedUuid(`tollgate:delivery:${deliveryId}`);
}

/** The job id of a run's pipeline job: one job per run (and per explicit restart `n`). */
export function jobIdForRun(runId: string, n = 0): string {
  return derivedUuid(`tollgate:run:${runId}:${n}`);
}

function derivedUuid(key: string): string {
  const bytes = createHash("sha256").update(key).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x80; // version 8
  bytes[8] = (bytes[8]! & 0x3f) | 0x80; // RFC variant
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
