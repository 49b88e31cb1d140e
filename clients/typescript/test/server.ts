/** Where the tests find a running Solace server: set by tests/test_typescript_client.py,
 * which starts `solace serve` and creates the keys. */
import { SolaceClient } from "../src/index.js";

function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run these tests through tests/test_typescript_client.py (pytest), ` +
                    "which starts a server, or set SOLACE_URL, SOLACE_API_KEY, SOLACE_EDITOR_KEY and SOLACE_REVIEWER_KEY");
  }
  return value;
}

export const baseUrl = (): string => required("SOLACE_URL");
export const platform = (): SolaceClient => new SolaceClient({ baseUrl: baseUrl(), apiKey: required("SOLACE_API_KEY") });
export const editor = (): SolaceClient => new SolaceClient({ baseUrl: baseUrl(), apiKey: required("SOLACE_EDITOR_KEY") });
export const reviewer = (): SolaceClient => new SolaceClient({ baseUrl: baseUrl(), apiKey: required("SOLACE_REVIEWER_KEY") });
export const unique = (): string => Math.random().toString(16).slice(2, 10);
