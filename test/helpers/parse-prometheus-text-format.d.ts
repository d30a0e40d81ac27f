/** The parser ships no types: its one export takes the text format and returns its metric families. */
declare module "parse-prometheus-text-format" {
  const parse: (text: string) => unknown[];
  export default parse;
}
