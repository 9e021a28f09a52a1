import { type AppError, errors } from '@media-foundry/shared';

/**
 * The bytes one job's inputs may take together (MAX_JOB_INPUT_MB), shared by
 * its downloads and staged copies as they arrive: MAX_FILE_SIZE_MB bounds
 * each input, this bounds the job (a concat of 20 endless URLs included).
 */
export class InputBudget {
  private used = 0;

  constructor(readonly maxBytes: number) {}

  /**
   * One attempt at fetching an input: its bytes count until it fails, and a
   * failed attempt gives them back (a retry starts the file again from zero).
   */
  attempt(): BudgetAttempt {
    let taken = 0;
    return {
      take: (bytes) => {
        // refused bytes are not counted: a read left out (a look-ahead not taken) must not spend the budget
        if (this.used + bytes > this.maxBytes) return false;
        taken += bytes;
        this.used += bytes;
        return true;
      },
      release: () => {
        this.used -= taken;
        taken = 0;
      },
      exceeded: () => this.exceeded(),
    };
  }

  /** JOB_FAILED naming the limit. */
  exceeded(): AppError {
    return errors.jobFailed(
      'Inputs are too large',
      `the job's inputs add up to more than MAX_JOB_INPUT_MB (${Math.round(this.maxBytes / 1048576)} MiB)`,
    );
  }
}

export interface BudgetAttempt {
  /** Counts `bytes`; false (counting nothing) when they would take the job's inputs over the budget. */
  take(bytes: number): boolean;
  /** Gives back what this attempt took. */
  release(): void;
  exceeded(): AppError;
}
