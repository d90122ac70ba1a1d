/** Every path prefix whose errors take OpenAI's shape: the server's and each task's (`openAiErrorPaths` of its endpoints). */
import { TASK_ENDPOINTS } from '../service/task-endpoint-list.ts';
import { SERVER_OPENAI_PATHS } from './error-response.ts';

export const OPENAI_ERROR_PATHS: readonly string[] = [...SERVER_OPENAI_PATHS, ...TASK_ENDPOINTS.flatMap((e) => e.endpoints.openAiErrorPaths ?? [])];
