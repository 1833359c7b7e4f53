// A refusal from the API as the pages handle it: the HTTP status and the problem+json body,
// whose `field` names where a form shows it. `must` turns an openapi-fetch answer into its body
// or this error.
export interface ProblemBody {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
  field?: string | null;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: ProblemBody | undefined,
  ) {
    super(problem?.title ?? problem?.detail ?? `HTTP ${status}`);
  }
  get code(): string | undefined {
    return this.problem?.code;
  }
  get field(): string | undefined {
    return this.problem?.field ?? undefined;
  }
}

type Answer<T> = { data?: T; error?: unknown; response: Response };

/** The answer's body, or an `ApiError` carrying the server's problem. */
export async function must<T>(call: Promise<Answer<T>>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok || data === undefined) throw new ApiError(response.status, error as ProblemBody | undefined);
  return data;
}

/** The problem+json body of a plain `fetch` answer that was not ok, as an `ApiError`. */
export async function errorOf(res: Response): Promise<ApiError> {
  return new ApiError(res.status, (await res.json().catch(() => undefined)) as ProblemBody | undefined);
}
