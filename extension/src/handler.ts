import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { LakebookApiError, describe, readResponse } from './api';

/**
 * Call the Lakebook server extension's REST API.
 *
 * The request goes through `ServerConnection.makeRequest`, so it carries the
 * Jupyter server's authentication (token or cookie and XSRF header).
 *
 * @param endPoint API path below `/lakebook/api/`, e.g. `status`.
 * @param init Initial values for the request.
 * @param settings Server connection settings (defaults to the page's).
 * @returns The decoded JSON body.
 * @throws {LakebookApiError} on a network failure or a non-2xx answer.
 */
export async function requestAPI<T = unknown>(
  endPoint = '',
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  const requestUrl = URLExt.join(
    settings.baseUrl,
    'lakebook',
    'api',
    endPoint
  );

  let response: Response;
  try {
    response = await ServerConnection.makeRequest(requestUrl, init, settings);
  } catch (error) {
    throw new LakebookApiError(
      `Cannot reach the Jupyter server: ${describe(error)}`
    );
  }
  return (await readResponse(response)) as T;
}

/**
 * Fetch the text of a path below `/lakebook/api/` (an HTML report), with the
 * Jupyter server's authentication.
 *
 * @throws {LakebookApiError} on a network failure or a non-2xx answer.
 */
export async function requestText(
  endPoint: string,
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<string> {
  const requestUrl = URLExt.join(settings.baseUrl, 'lakebook', 'api', endPoint);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(requestUrl, { method: 'GET' }, settings);
  } catch (error) {
    throw new LakebookApiError(`Cannot reach the Jupyter server: ${describe(error)}`);
  }
  if (!response.ok) {
    // Reuse the JSON error handling (it throws for a non-2xx answer).
    await readResponse(response);
  }
  return response.text();
}
