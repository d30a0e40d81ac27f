import { generateKeyPairSync } from "node:crypto";

/** A private key made for the test run (never a real app's). */
export const TEST_PRIVATE_KEY = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({
  type: "pkcs1",
  format: "pem",
}) as string;
