// Plain words for the commonest issues, in every schema of the program. Imported for its effect
// by each module that defines schemas, so the words apply whichever module loads first.
import { z } from "zod";

z.config({
  customError: (issue) => {
    if (issue.code === "invalid_type" && issue.input === undefined) return "is required";
    if (issue.code === "invalid_type")
      return `must be ${issue.expected === "object" ? "an object" : `a ${issue.expected}`}`;
    if (issue.code === "unrecognized_keys") return `unknown field(s): ${issue.keys.join(", ")}`;
    return undefined;
  },
});
