// Loaded before every test file: the domain's zod settings apply as they do in the program.
import "../../src/domain/actionInput.ts";
