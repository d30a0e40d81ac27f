/**
 * Token estimates for sizing what Tollgate sends (repo maps, truncation): about 4 characters a
 * token, what Anthropic's tokenizer gives on English and code. Billing always uses the API's
 * own `usage`, never this.
 */
export function approxTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
