/**
 * The stores: every SQL statement Tollgate writes lives in this folder (a lint rule keeps it
 * so), one module per table family. Everything else asks a store.
 */
import type { Database } from "../db/database.js";
import { AgentRecords } from "./agent-records.js";
import { CommentCommandStore } from "./comment-commands.js";
import { RunCosts } from "./cost-rows.js";
import { CostHistory } from "./history.js";
import { BudgetStore } from "./budget.js";
import { DeliveryStore } from "./deliveries.js";
import { Ledger } from "./ledger.js";
import { LeaseStore } from "./leases.js";
import { PhaseStore } from "./phases.js";
import { QueueInspection } from "./queue-inspection.js";
import { RefusalStore } from "./refusals.js";
import { RunStore } from "./runs.js";

export interface Stores {
  runs: RunStore;
  phases: PhaseStore;
  deliveries: DeliveryStore;
  ledger: Ledger;
  budget: BudgetStore;
  commands: CommentCommandStore;
  queueInfo: QueueInspection;
  refusals: RefusalStore;
  leases: LeaseStore;
  costs: RunCosts;
  history: CostHistory;
  records: AgentRecords;
}

export function openStores(db: Database): Stores {
  return {
    runs: new RunStore(db),
    phases: new PhaseStore(db),
    deliveries: new DeliveryStore(db),
    ledger: new Ledger(db),
    budget: new BudgetStore(db),
    commands: new CommentCommandStore(db),
    queueInfo: new QueueInspection(db),
    refusals: new RefusalStore(db),
    leases: new LeaseStore(db),
    costs: new RunCosts(db),
    history: new CostHistory(db),
    records: new AgentRecords(db),
  };
}
