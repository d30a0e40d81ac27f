import { parseThreadAnswers } from "../../../src/phases/execute/thread-answers.js";

/** Endings an agent could write after a revision, and the answers (1-based) a reader would take from them. */
const corpus: Array<{ name: string; text: string; answers: Record<number, string>; rest?: string }> = [
  {
    name: "plain #n: lines",
    text: "#1: Added the constant.\n#2: Removed the flag.",
    answers: { 1: "Added the constant.", 2: "Removed the flag." },
  },
  {
    name: "prose, then #n: lines",
    text: "I moved the greeting to a constant.\n\n#1: Added GREETING.\n#2: Kept it: the CLI uses it.",
    answers: { 1: "Added GREETING.", 2: "Kept it: the CLI uses it." },
    rest: "I moved the greeting to a constant.",
  },
  { name: "dash bullets", text: "- #1: Added the constant.\n- #2: Done.", answers: { 1: "Added the constant.", 2: "Done." } },
  { name: "star bullets", text: "* #1: Renamed it.\n* #2: Updated the docs.", answers: { 1: "Renamed it.", 2: "Updated the docs." } },
  {
    name: "bold with the colon inside",
    text: "**#1:** Added the test.\n**#2:** Fixed the typo.",
    answers: { 1: "Added the test.", 2: "Fixed the typo." },
  },
  {
    name: "bold with the colon outside",
    text: "**#1**: Added the test.\n**#2**: Fixed the typo.",
    answers: { 1: "Added the test.", 2: "Fixed the typo." },
  },
  {
    name: "bullet and bold",
    text: "- **#1:** Added the test.\n- **#2:** Fixed the typo.",
    answers: { 1: "Added the test.", 2: "Fixed the typo." },
  },
  { name: "em dash", text: "#1 — Added the constant.\n#2 — Left as is.", answers: { 1: "Added the constant.", 2: "Left as is." } },
  { name: "hyphen", text: "#1 - Added the constant.\n#2 - Left as is.", answers: { 1: "Added the constant.", 2: "Left as is." } },
  {
    name: "Comment #n:",
    text: "Comment #1: Added the constant.\nComment #2: Left as is.",
    answers: { 1: "Added the constant.", 2: "Left as is." },
  },
  { name: "Comment n:", text: "Comment 1: Added it.\nComment 2: Declined.", answers: { 1: "Added it.", 2: "Declined." } },
  {
    name: "bold Comment n",
    text: "**Comment 1:** Added it.\n**Review comment 2:** Declined, it is public API.",
    answers: { 1: "Added it.", 2: "Declined, it is public API." },
  },
  { name: "thread ids", text: "T1: Added it.\nT2: Declined.", answers: { 1: "Added it.", 2: "Declined." } },
  { name: "Thread T-less ids", text: "Thread 1: Added it.\nThread #2: Declined.", answers: { 1: "Added it.", 2: "Declined." } },
  {
    name: "numbered list",
    text: "Summary of the changes:\n\n1. Added the constant in src/greet.js.\n2. The flag is still used by the CLI, so I kept it.",
    answers: { 1: "Added the constant in src/greet.js.", 2: "The flag is still used by the CLI, so I kept it." },
    rest: "Summary of the changes:",
  },
  {
    name: "numbered list with parentheses",
    text: "1) Added the constant.\n2) Kept the flag.",
    answers: { 1: "Added the constant.", 2: "Kept the flag." },
  },
  {
    name: "explicit markers win over a numbered list of steps",
    text: "Steps:\n1. Read the file.\n2. Edited it.\n\n#1: Added the constant.",
    answers: { 1: "Added the constant." },
    rest: "Steps: 1. Read the file. 2. Edited it.",
  },
  {
    name: "an answer over two lines",
    text: "#1: Added the constant\nand used it in both places.\n#2: Done.",
    answers: { 1: "Added the constant and used it in both places.", 2: "Done." },
  },
  {
    name: "an indented continuation after a blank line",
    text: "- #1: Added the constant.\n\n  It is exported too.\n- #2: Done.",
    answers: { 1: "Added the constant. It is exported too.", 2: "Done." },
  },
  {
    name: "headings with the answer below",
    text: "### Comment #1\n\nAdded the constant.\n\n### Comment #2\n\nKept the flag: the CLI uses it.",
    answers: { 1: "Added the constant.", 2: "Kept the flag: the CLI uses it." },
  },
  {
    name: "a closing paragraph is not part of the last answer",
    text: "#1: Added the constant.\n#2: Kept the flag.\n\nAll tests pass (node --test).",
    answers: { 1: "Added the constant.", 2: "Kept the flag." },
    rest: "All tests pass (node --test).",
  },
  { name: "out of order", text: "#2: b\n#1: a", answers: { 1: "a", 2: "b" } },
  { name: "a thread answered twice keeps the first", text: "#1: first\n#1: second", answers: { 1: "first" } },
  { name: "Windows line ends", text: "#1: Added it.\r\n#2: Kept it.\r\n", answers: { 1: "Added it.", 2: "Kept it." } },
  {
    name: "an issue reference in prose is not a marker",
    text: "Fixed the bug from #12abc and #3/4 in the docs.",
    answers: {},
    rest: "Fixed the bug from #12abc and #3/4 in the docs.",
  },
  {
    name: "a markdown heading is not a marker",
    text: "# Summary\nChanged the greeting.",
    answers: {},
    rest: "# Summary Changed the greeting.",
  },
  {
    name: "no answers at all",
    text: "Changed the greeting to Hi; the test passes.",
    answers: {},
    rest: "Changed the greeting to Hi; the test passes.",
  },
];

describe("parseThreadAnswers: a corpus of agents' endings", () => {
  it("has at least 20 realistic endings", () => expect(corpus.length).toBeGreaterThanOrEqual(20));

  it.each(corpus)("$name", ({ text, answers, rest }) => {
    const parsed = parseThreadAnswers(text);
    expect(Object.fromEntries(parsed.answers)).toEqual(answers);
    if (rest !== undefined) expect(parsed.rest).toBe(rest);
  });
});
