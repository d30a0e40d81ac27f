/** An agent's limits: the loop checks them before every model call, and its text states them. */
export interface AgentLimits {
  maxTurns: number;
  /** Input + output tokens over the whole loop. */
  maxTokens: number;
  /** Wall time from the start, in ms. */
  maxMs: number;
  /** Model mistakes in a row before the loop gives up. */
  maxConsecutiveErrors: number;
}
