/**
 * What a file is before it is shown to a model: text (UTF-8, under a size cap) is shown; a file
 * too large, binary, not UTF-8, or a Git LFS pointer is described in one line instead.
 */
import { open, stat } from "node:fs/promises";

export const MAX_VIEW_BYTES = 256 * 1024;

export type FileContent = { kind: "text"; text: string } | { kind: "described"; description: string };

const sizeOf = (bytes: number) =>
  bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : bytes >= 1024 ? `${(bytes / 1024).toFixed(1)} KB` : `${bytes} bytes`;

export async function readFileContent(abs: string, rel: string, options: { allowLarge?: boolean } = {}): Promise<FileContent> {
  const { size } = await stat(abs);
  if (size > MAX_VIEW_BYTES && !options.allowLarge) {
    return { kind: "described", description: `${rel} is ${sizeOf(size)}, too large to show whole: view a line range (view_range) instead` };
  }
  const handle = await open(abs, "r");
  let buffer: Buffer;
  try {
    buffer = Buffer.alloc(Math.min(size, options.allowLarge ? size : MAX_VIEW_BYTES));
    await handle.read(buffer, 0, buffer.length, 0);
  } finally {
    await handle.close();
  }
  if (buffer.subarray(0, 8192).includes(0))
    return { kind: "described", description: `${rel} is a binary file (${sizeOf(size)}): not shown` };
  const head = buffer.subarray(0, 200).toString("latin1");
  if (head.startsWith("version https://git-lfs.github.com/spec/")) {
    const oid = /oid sha256:([0-9a-f]{12})/.exec(buffer.toString("latin1"))?.[1];
    return {
      kind: "described",
      description: `${rel} is a Git LFS pointer (object ${oid ?? "unknown"}…): the real file is not in the checkout`,
    };
  }
  try {
    return { kind: "text", text: new TextDecoder("utf-8", { fatal: true }).decode(buffer) };
  } catch {
    return {
      kind: "described",
      description: `${rel} is not UTF-8 text (perhaps Latin-1 or another encoding; ${sizeOf(size)}): not shown, and not editable by the text tools`,
    };
  }
}
