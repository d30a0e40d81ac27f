/**
 * Top-level symbols of a source file, from a real parser: tree-sitter (WebAssembly build) with
 * the prebuilt grammars of @repomix/tree-sitter-wasms. One walk serves every language: a
 * definition is a node whose type says so (…declaration, …definition, …item, …spec) and that
 * has a name; classes, impls, modules and exports are opened one level for their members.
 */
import { createRequire } from "node:module";
import path from "node:path";
import { Language, Parser, type Node } from "web-tree-sitter";

const require = createRequire(import.meta.url);

export interface SourceSymbol {
  kind: string;
  name: string;
  /** 1-based. */
  line: number;
  /** 0 for top level, 1 for a member of a class, impl, module or export. */
  depth: number;
  /** The definition's first line, trimmed. */
  signature: string;
}

const GRAMMARS: Record<string, string> = {
  ".ts": "typescript",
  ".mts": "typescript",
  ".cts": "typescript",
  ".tsx": "tsx",
  ".js": "javascript",
  ".mjs": "javascript",
  ".cjs": "javascript",
  ".jsx": "javascript",
  ".py": "python",
  ".go": "go",
  ".rs": "rust",
  ".java": "java",
  ".rb": "ruby",
  ".php": "php",
  ".c": "c",
  ".h": "c",
  ".cc": "cpp",
  ".cpp": "cpp",
  ".hpp": "cpp",
  ".cs": "c_sharp",
  ".swift": "swift",
  ".dart": "dart",
  ".sol": "solidity",
};

export function grammarFor(file: string): string | undefined {
  return GRAMMARS[path.extname(file).toLowerCase()];
}

let ready: Promise<void> | undefined;
const languages = new Map<string, Promise<Language>>();

async function parserFor(grammar: string): Promise<Parser> {
  ready ??= Parser.init();
  await ready;
  let language = languages.get(grammar);
  if (!language) {
    language = Language.load(require.resolve(`@repomix/tree-sitter-wasms/out/tree-sitter-${grammar}.wasm`));
    languages.set(grammar, language);
  }
  const parser = new Parser();
  parser.setLanguage(await language);
  return parser;
}

const DEFINITION = /(declaration|definition|_item|_spec|^method|^class|^module|^function|signature|^assignment)$/;
/** Wrappers whose inner declaration is the symbol (export, decorators, templates, Go type blocks…). */
const TRANSPARENT =
  /^(export_statement|decorated_definition|template_declaration|type_declaration|lexical_declaration|variable_declaration|const_declaration|var_declaration|ambient_declaration|expression_statement)$/;
/** Definitions whose members are listed too. */
const CONTAINER = /(class|interface|struct|impl|trait|module|mod_item|namespace|enum|object|protocol|extension|contract)/;
/** Members worth listing: behaviour, not fields. */
const MEMBER = /(method|function|constructor|class|module|struct|trait|interface|enum)/;
const SKIP = /^(import|using|package|include|preproc|comment|use_declaration|expression_statement)/;

function nameOf(node: Node): string | undefined {
  const named = node.childForFieldName("name");
  if (named) return named.text;
  // C and C++: the name sits inside the declarator (function_declarator → identifier)
  let declarator = node.childForFieldName("declarator");
  while (declarator) {
    const inner = declarator.childForFieldName("declarator");
    if (!inner) return /identifier|name/.test(declarator.type) ? declarator.text : undefined;
    declarator = inner;
  }
  // JS/TS `const x = …` and Python `X = …`
  const left = node.childForFieldName("left");
  if (left && /identifier/.test(left.type)) return left.text;
  // Rust `impl Type`
  return node.childForFieldName("type")?.text;
}

function bodyOf(node: Node): Node[] {
  const body =
    node.childForFieldName("body") ?? node.namedChildren.find((c) => c && /body|declaration_list|block|members/.test(c.type)) ?? null;
  return (body?.namedChildren ?? []).filter((c): c is Node => c !== null);
}

function kindOf(type: string): string {
  return type.replace(/_(declaration|definition|item|spec|signature|declarator)$/, "").replace(/_/g, " ");
}

export async function symbolsOf(file: string, source: string): Promise<SourceSymbol[] | undefined> {
  const grammar = grammarFor(file);
  if (!grammar) return undefined;
  const parser = await parserFor(grammar);
  const tree = parser.parse(source);
  if (!tree) return undefined;
  const lines = source.split("\n");
  const out: SourceSymbol[] = [];
  const visit = (node: Node, depth: number) => {
    if (SKIP.test(node.type) && !TRANSPARENT.test(node.type)) return;
    if (TRANSPARENT.test(node.type)) {
      for (const child of node.namedChildren) if (child) visit(child, depth);
      return;
    }
    const declarations = node.type === "variable_declarator" || node.type === "type_spec" || DEFINITION.test(node.type);
    const name = declarations ? nameOf(node) : undefined;
    if (!name || name.length > 120) return;
    if (depth > 0 && !MEMBER.test(node.type)) return; // fields and properties are noise in a map
    const line = node.startPosition.row + 1;
    out.push({ kind: kindOf(node.type), name, line, depth, signature: (lines[line - 1] ?? "").trim().slice(0, 120) });
    if (depth === 0 && CONTAINER.test(node.type)) for (const member of bodyOf(node)) visit(member, 1);
  };
  try {
    for (const child of tree.rootNode.namedChildren) if (child) visit(child, 0);
  } finally {
    tree.delete();
    parser.delete();
  }
  return out;
}
