import { parseRepoConfig } from "../../../src/config/repo-config.js";
import { MODEL_PHASES, PHASE, PHASE_NAMES, phaseRank, phasesBefore, REUSABLE_PHASES, ROUND_PHASES } from "../../../src/phases/registry.js";

describe("the phase registry", () => {
  it("phasesBefore: the phases a run starting at a phase reuses, in order", () => {
    expect(phasesBefore(PHASE.gate)).toEqual([]);
    expect(phasesBefore(PHASE.plan)).toEqual(["gate"]);
    expect(phasesBefore(PHASE.execute)).toEqual(["gate", "plan"]);
    // a copy: changing it changes nothing in the registry
    phasesBefore(PHASE.execute).push(PHASE.execute);
    expect(REUSABLE_PHASES).toEqual(["gate", "plan", "execute"]);
  });

  it("phaseRank: pipeline order, an unknown name last", () => {
    expect(PHASE_NAMES.map(phaseRank)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(phaseRank("gate")).toBeLessThan(phaseRank("setup"));
    expect(phaseRank("setup")).toBeLessThan(phaseRank("plan"));
    expect(phaseRank("checkout")).toBeLessThan(phaseRank("execute"));
    expect(phaseRank("review")).toBeLessThan(phaseRank("publish"));
    expect(phaseRank("triage")).toBe(PHASE_NAMES.length);
    expect(phaseRank("")).toBe(PHASE_NAMES.length);
    expect(phaseRank("Plan")).toBe(PHASE_NAMES.length); // names are exact
    const sorted = ["publish", "mystery", "verify", "gate", "execute", "review", "plan"].sort((a, b) => phaseRank(a) - phaseRank(b));
    expect(sorted).toEqual(["gate", "plan", "execute", "verify", "review", "publish", "mystery"]);
  });

  it("names the same phases that call a model as the repository's config puts on a tier", () => {
    expect(Object.keys(parseRepoConfig({}).phases).sort()).toEqual([...MODEL_PHASES].sort());
  });

  it("PHASE names each phase as itself, frozen", () => {
    for (const name of PHASE_NAMES) expect(PHASE[name]).toBe(name);
    expect(Object.isFrozen(PHASE)).toBe(true);
    expect(ROUND_PHASES).toEqual(["execute", "verify", "review"]);
  });
});
