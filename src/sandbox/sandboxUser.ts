// The one person in the local sandbox: whoever has the sandbox page open.
export const SANDBOX_USER = { id: "U0LOCALUSER", name: "you", realName: "You (sandbox)" } as const;
