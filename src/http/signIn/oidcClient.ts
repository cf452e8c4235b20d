// The OpenID Connect side of the step-up sign-in, with openid-client: the authorization code
// flow with PKCE (S256), `state` and `nonce`, `prompt=login` and `max_age` so that the person
// enters their credentials again; the ID token's signature, issuer, audience, nonce and
// `auth_time` against `max_age` are checked by the library.
import * as oidc from "openid-client";
import type { OidcProvider } from "../../config/env.ts";
import type { ProviderAnswer } from "../../services/stepUp.ts";

export type SignInClient = {
  /** Where the provider sends the person back (registered with it). */
  redirectUri: string;
  /** Where to send the person: the provider's authorization endpoint with this sign-in's secrets. */
  authorizationUrl(secrets: { state: string; nonce: string; codeVerifier: string }): Promise<URL>;
  /** The provider's answer at the redirect URI, verified. */
  answer(
    callbackUrl: URL,
    secrets: { state: string; nonce: string; codeVerifier: string },
  ): Promise<ProviderAnswer>;
  /** The origin the sign-in form may send the browser to (the page's form-action). */
  authorizationOrigin(): Promise<string>;
};

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

export function createSignInClient(
  provider: OidcProvider,
  options: { redirectUri: string; maxAgeSeconds: number },
): SignInClient {
  // Discovered once, at first use; a failed discovery is tried again at the next sign-in.
  let discovered: Promise<oidc.Configuration> | null = null;
  const configuration = () => {
    discovered ??= discover(provider).catch((error: unknown) => {
      discovered = null;
      throw error;
    });
    return discovered;
  };
  return {
    redirectUri: options.redirectUri,
    async authorizationUrl(secrets) {
      const config = await configuration();
      return oidc.buildAuthorizationUrl(config, {
        redirect_uri: options.redirectUri,
        scope: "openid email profile",
        response_type: "code",
        code_challenge: await oidc.calculatePKCECodeChallenge(secrets.codeVerifier),
        code_challenge_method: "S256",
        state: secrets.state,
        nonce: secrets.nonce,
        prompt: "login",
        max_age: String(options.maxAgeSeconds),
      });
    },
    async answer(callbackUrl, secrets) {
      const error = callbackUrl.searchParams.get("error");
      if (error) {
        const description = callbackUrl.searchParams.get("error_description");
        return { kind: "cancelled", error, ...(description && { description }) };
      }
      const config = await configuration();
      try {
        const tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
          pkceCodeVerifier: secrets.codeVerifier,
          expectedState: secrets.state,
          expectedNonce: secrets.nonce,
          maxAge: options.maxAgeSeconds,
          idTokenExpected: true,
        });
        const claims = tokens.claims();
        if (!claims) return { kind: "failed", message: "the provider sent no ID token" };
        return { kind: "signed_in", issuer: claims.iss, claims: { ...claims, sub: claims.sub } };
      } catch (failure) {
        return {
          kind: "failed",
          message: `the provider's answer did not verify: ${(failure as Error).message}`,
        };
      }
    },
    async authorizationOrigin() {
      const endpoint = (await configuration()).serverMetadata().authorization_endpoint;
      return endpoint ? new URL(endpoint).origin : "";
    },
  };
}

function discover(provider: OidcProvider): Promise<oidc.Configuration> {
  const issuer = new URL(provider.issuer);
  // Plain http only for a provider on this machine (the sandbox's, a test's); env.ts allows no other.
  const insecure = issuer.protocol === "http:" && LOOPBACK.has(issuer.hostname);
  return oidc.discovery(
    issuer,
    provider.clientId,
    { client_secret: provider.clientSecret },
    oidc.ClientSecretPost(provider.clientSecret),
    insecure ? { execute: [oidc.allowInsecureRequests] } : undefined,
  );
}
