import type { z } from 'zod';

/** One readable line per problem, each naming the field: `options.speed_factor: Too big: expected number to be <=10`. */
export function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.map(String).join('.');
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join('; ');
}
