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
