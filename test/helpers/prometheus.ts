/**
 * Prometheus's text format read back with a parser of its own (parse-prometheus-text-format),
 * not with prom-client: what a scraper sees, as numbers.
 */
import parsePrometheusTextFormat from "parse-prometheus-text-format";

export interface Sample {
  labels: Record<string, string>;
  value: number;
}

export interface HistogramSample {
  /** The series' labels (without `le`). */
  labels: Record<string, string>;
  /** Cumulative counts by upper bound (`+Inf` last). */
  buckets: Record<string, number>;
  count: number;
  sum: number;
}

export interface Scrape {
  /** The families by name, with their type (COUNTER, GAUGE, HISTOGRAM). */
  types: Map<string, string>;
  samples(name: string): Sample[];
  histograms(name: string): HistogramSample[];
}

interface Family {
  name: string;
  type: string;
  metrics: Array<{ labels?: Record<string, string>; value?: string }>;
}

const parse = (text: string) => parsePrometheusTextFormat(text) as Family[];

/** Every sample of the families called `name` (the parser makes a family of each run of lines). */
function samplesOf(families: Family[], name: string): Sample[] {
  return families.filter((f) => f.name === name).flatMap((f) => f.metrics.map((m) => ({ labels: m.labels ?? {}, value: Number(m.value) })));
}

export function parseScrape(scraped: string): Scrape {
  // the parser drops a last line without its newline
  const text = scraped.endsWith("\n") ? scraped : `${scraped}\n`;
  const families = parse(text);
  return {
    types: new Map(families.map((f) => [f.name, f.type])),
    samples: (name) => samplesOf(families, name),
    // The parser folds a histogram's labelled series into one; read without its TYPE line, the
    // family is plain `_bucket`, `_sum` and `_count` samples, each with its labels.
    histograms(name) {
      const plain = parse(text.replace(new RegExp(`^# (TYPE|HELP) ${name} .*\\n`, "gm"), ""));
      const key = (labels: Record<string, string>) => JSON.stringify(Object.entries(labels).filter(([k]) => k !== "le"));
      const series = new Map<string, HistogramSample>();
      for (const b of samplesOf(plain, `${name}_bucket`)) {
        const { le, ...labels } = b.labels;
        const s = series.get(key(labels)) ?? { labels, buckets: {}, count: NaN, sum: NaN };
        s.buckets[le!] = b.value;
        series.set(key(labels), s);
      }
      for (const c of samplesOf(plain, `${name}_count`)) series.get(key(c.labels))!.count = c.value;
      for (const c of samplesOf(plain, `${name}_sum`)) series.get(key(c.labels))!.sum = c.value;
      return [...series.values()];
    },
  };
}

/** The bucket bounds of a histogram sample, ascending, as numbers (`+Inf` is Infinity). */
export function bucketBounds(sample: HistogramSample): number[] {
  return Object.keys(sample.buckets)
    .map((le) => (le === "+Inf" ? Infinity : Number(le)))
    .sort((a, b) => a - b);
}
