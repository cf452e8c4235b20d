// A browser without a browser: fetch with a cookie jar per host that follows redirects, enough
// to walk an OpenID Connect sign-in (our page → the provider → its login form → our callback).
export type Page = { status: number; url: string; text: string };

export function httpBrowser() {
  const jars = new Map<string, Map<string, string>>();
  const jarOf = (url: URL) => {
    if (!jars.has(url.host)) jars.set(url.host, new Map());
    return jars.get(url.host)!;
  };

  /** `stopAt`: a redirect to a URL starting with this is not followed; the page's url is its target. */
  async function go(
    start: string,
    init: { method?: string; form?: Record<string, string>; stopAt?: string } = {},
  ): Promise<Page> {
    let url = new URL(start);
    let method = init.method ?? "GET";
    let body: string | undefined = init.form ? new URLSearchParams(init.form).toString() : undefined;
    for (let hop = 0; hop < 20; hop += 1) {
      const jar = jarOf(url);
      const headers: Record<string, string> = {};
      if (jar.size > 0) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
      if (body !== undefined) headers["content-type"] = "application/x-www-form-urlencoded";
      const res = await fetch(url, { method, headers, body, redirect: "manual" });
      for (const line of res.headers.getSetCookie()) {
        const [pair, ...attributes] = line.split(";");
        const [name, ...value] = pair!.trim().split("=");
        const gone = attributes.some((a) => /^\s*(max-age=0|expires=thu, 01 jan 1970)/i.test(a));
        if (gone) jar.delete(name!);
        else jar.set(name!, value.join("="));
      }
      const location = res.headers.get("location");
      if (res.status >= 300 && res.status < 400 && location) {
        await res.arrayBuffer();
        url = new URL(location, url);
        if (init.stopAt && String(url).startsWith(init.stopAt))
          return { status: res.status, url: String(url), text: "" };
        method = "GET";
        body = undefined;
        continue;
      }
      return { status: res.status, url: String(url), text: await res.text() };
    }
    throw new Error(`too many redirects from ${start}`);
  }

  return {
    get: (url: string) => go(url),
    post: (url: string, form: Record<string, string> = {}, options: { stopAt?: string } = {}) =>
      go(url, { method: "POST", form, ...options }),
    /** Forgets every cookie: another browser. */
    clear: () => jars.clear(),
  };
}
