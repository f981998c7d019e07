/**
 * A small Gherkin reader for the OpenFeature spec's feature files: Feature, Background, Scenario,
 * Scenario Outline with (tagged) Examples, steps with data tables, comments. Enough for those
 * files; @cucumber/cucumber would bring its own runner, which sits poorly inside vitest.
 */

export interface Step {
  keyword: string;
  text: string;
  /** Rows of a data table under the step, header first. */
  table?: string[][];
}

export interface Scenario {
  name: string;
  tags: string[];
  steps: Step[];
}

const cells = (line: string): string[] =>
  line
    .trim()
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split(/(?<!\\)\|/)
    .map((c) => c.trim().replaceAll('\\|', '|').replaceAll('\\"', '"'));

/** Every scenario of a feature, outlines expanded (Background steps first). */
export const parseFeature = (text: string): Scenario[] => {
  const scenarios: Scenario[] = [];
  let background: Step[] = [];
  let current: { name: string; tags: string[]; steps: Step[]; outline: boolean } | null = null;
  let examples: { tags: string[]; rows: string[][] } | null = null;
  let pendingTags: string[] = [];
  let inBackground = false;
  let lastStep: Step | undefined;

  const flushExamples = () => {
    if (!current || !examples) return;
    const [header, ...rows] = examples.rows;
    for (const row of rows) {
      const fill = (s: string) => header!.reduce((t, h, i) => t.replaceAll(`<${h}>`, row[i] ?? ''), s);
      scenarios.push({
        name: `${current.name} (${header!.map((h, i) => `${h}=${row[i]}`).join(', ')})`,
        tags: [...current.tags, ...examples.tags],
        steps: [
          ...background,
          ...current.steps.map((s) => ({
            ...s,
            text: fill(s.text),
            ...(s.table ? { table: s.table.map((r) => r.map(fill)) } : {}),
          })),
        ],
      });
    }
    examples = null;
  };
  const flushScenario = () => {
    flushExamples();
    if (current && !current.outline)
      scenarios.push({ name: current.name, tags: current.tags, steps: [...background, ...current.steps] });
    current = null;
  };

  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('@')) {
      pendingTags.push(...line.split(/\s+/).filter((t) => t.startsWith('@')));
      continue;
    }
    const heading =
      /^(Feature|Background|Scenario Outline|Scenario Template|Scenario|Examples|Scenarios):\s*(.*)$/.exec(line);
    if (heading) {
      const [, kind, name] = heading;
      if (kind === 'Feature') {
        pendingTags = [];
        continue;
      }
      if (kind === 'Background') {
        inBackground = true;
        background = [];
      } else if (kind === 'Examples' || kind === 'Scenarios') {
        flushExamples();
        examples = { tags: pendingTags, rows: [] };
      } else {
        flushScenario();
        inBackground = false;
        current = { name: name ?? '', tags: pendingTags, steps: [], outline: kind !== 'Scenario' };
      }
      pendingTags = [];
      lastStep = undefined;
      continue;
    }
    if (line.startsWith('|')) {
      if (examples) examples.rows.push(cells(line));
      else if (lastStep) (lastStep.table ??= []).push(cells(line));
      continue;
    }
    const step = /^(Given|When|Then|And|But|\*)\s+(.*)$/.exec(line);
    if (step) {
      lastStep = { keyword: step[1]!, text: step[2]!.replaceAll('\\"', '"') };
      if (inBackground) background.push(lastStep);
      else current?.steps.push(lastStep);
    }
    // Anything else is free-form description text.
  }
  flushScenario();
  return scenarios;
};
