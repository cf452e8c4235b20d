// The one person in the local sandbox: whoever has the sandbox page open.
export const SANDBOX_USER = {
  id: "U0LOCALUSER",
  name: "you",
  realName: "You (sandbox)",
  email: "you@sandbox.example",
} as const;

/**
 * Who the sandbox's local identity provider can sign in (step-up): you, and somebody else, to
 * see a sign-in as the wrong person refused.
 */
export const SANDBOX_ACCOUNTS = [
  { sub: "sandbox-you", email: SANDBOX_USER.email, name: "You" },
  { sub: "sandbox-someone-else", email: "someone.else@sandbox.example", name: "Someone else" },
] as const;
