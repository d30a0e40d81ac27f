/**
 * Review threads as an execution unit sees them: each has an id (T1, T2, … in the order the
 * revision lists them), the feedback names the ids on one line of Tollgate's own, and the unit
 * answers them by id in `finish_unit`. For a unit that ended without `finish_unit` (a limit, a
 * refusal), its last words are read by a tolerant parser: `#1:`, `- **#1:**`, `Comment 1 —`,
 * `T1:`, headings, numbered lists, answers over several lines.
 */

/** The id of the thread at `index` (0-based) of a revision. */
export const threadId = (index: number): string => `T${index + 1}`;

const LINE_START = "Review threads to answer, by id, in finish_unit's answers:";

/** The line of the feedback that names the threads to answer. */
export function threadsLine(count: number): string {
  return `${LINE_START} ${Array.from({ length: count }, (_, i) => threadId(i)).join(", ")}.`;
}

/**
 * The thread ids the feedback asks to answer: from the first line that is Tollgate's own
 * (`threadsLine`); the reviewers' text comes after it, so it cannot add to the list.
 */
export function threadIdsIn(feedback: string | undefined): string[] {
  if (!feedback) return [];
  const line = feedback.split("\n").find((l) => l.startsWith(LINE_START));
  if (!line) return [];
  const ids = line
    .slice(LINE_START.length)
    .replace(/\.\s*$/, "")
    .split(",");
  return ids.map((id) => id.trim()).filter((id, i) => id === threadId(i));
}

const DECOR = String.raw`(?:\*\*|__)?`;
const SEP = String.raw`\s*${DECOR}\s*(?:[:.)\-—–]+\s*)?${DECOR}\s*`;
/** A line that starts an answer to a thread named explicitly: `#1:`, `T1 —`, `**Comment 1:**`, `### Thread #2`. */
const EXPLICIT = new RegExp(
  String.raw`^\s*(?:[-*+]\s+)?(?:#{1,6}\s+)?${DECOR}\s*(?:(?:review\s+)?(?:comment|thread|point|item)\s*#?\s*|#\s?|T)(\d{1,3})(?!\d)(?![\w/])${SEP}(.*)$`,
  "i",
);
/** A numbered list item (`1. …`, `2) …`): read as answers only when nothing names a thread explicitly. */
const NUMBERED = /^\s*(?:[-*+]\s+)?(\d{1,3})[.)]\s+(.*)$/;

export interface ParsedAnswers {
  /** The answer to thread n (1-based), as written. */
  answers: Map<number, string>;
  /** The text that answers no thread, in one paragraph. */
  rest: string;
}

/** Reads per-thread answers out of a free-text summary (the fallback for a unit that did not call finish_unit). */
export function parseThreadAnswers(text: string): ParsedAnswers {
  const lines = text.split(/\r?\n/);
  const explicit = lines.some((l) => EXPLICIT.test(l));
  const marker = (line: string) => {
    const m = (explicit ? EXPLICIT : NUMBERED).exec(line);
    return m ? { n: Number(m[1]), text: (m[2] ?? "").replace(/(\*\*|__)\s*$/, "").trim() } : undefined;
  };
  const parts = new Map<number, string[]>();
  const rest: string[] = [];
  let current: string[] | undefined;
  let blank = false;
  for (const line of lines) {
    const m = marker(line);
    if (m && m.n > 0) {
      current = []; // a thread answered twice keeps its first answer
      if (!parts.has(m.n)) parts.set(m.n, current);
      if (m.text) current.push(m.text);
      blank = false;
      continue;
    }
    if (!line.trim()) {
      blank = true;
      continue;
    }
    // an answer goes on over the lines after it, up to a blank line (unless indented, or under a heading still empty)
    const goesOn = current && (!blank || /^(\s{2,}|\t)/.test(line) || current.length === 0);
    if (goesOn) current!.push(line.trim());
    else {
      current = undefined;
      rest.push(line.trim());
    }
    blank = false;
  }
  const answers = new Map([...parts].filter(([, p]) => p.length).map(([n, p]) => [n, p.join(" ").replace(/\s+/g, " ").trim()]));
  return { answers, rest: rest.join(" ").replace(/\s+/g, " ").trim() };
}
