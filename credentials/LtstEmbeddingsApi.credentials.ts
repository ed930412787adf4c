import type { ICredentialTestRequest, ICredentialType, INodeProperties } from 'n8n-workflow';

/** An OpenAI-compatible embeddings API: OpenAI, Azure-compatible gateways, Ollama, LM Studio, vLLM. */
export class LtstEmbeddingsApi implements ICredentialType {
  name = 'ltstEmbeddingsApi';

  displayName = 'LTST Embeddings OpenAI-Compatible API';

  icon = { light: 'file:ltst.svg', dark: 'file:ltst.dark.svg' } as const;

  documentationUrl = 'https://www.npmjs.com/package/n8n-nodes-ltst-memory#credentials';

  properties: INodeProperties[] = [
    { displayName: 'API Key', name: 'apiKey', type: 'string', typeOptions: { password: true }, default: '', description: 'Any value for local servers that need none' },
    { displayName: 'Base URL', name: 'baseUrl', type: 'string', default: 'https://api.openai.com/v1', description: 'The API root including its version, e.g. http://localhost:11434/v1 for Ollama' },
    { displayName: 'Model', name: 'model', type: 'string', default: 'text-embedding-3-small' },
  ];

  // No `authenticate`: n8n would then offer a "Custom API Call" operation (an HTTP request with this
  // key) on every node that has this credential, Memory Maintenance included. The nodes read the key
  // themselves; only this test sends it as a header.
  // Embeds one word: checks the address, the key and the model in one request.
  test: ICredentialTestRequest = {
    request: {
      baseURL: '={{ $credentials.baseUrl.replace(/\\/+$/, "") }}',
      url: '/embeddings',
      method: 'POST',
      headers: { Authorization: '=Bearer {{$credentials.apiKey}}' },
      body: { model: '={{ $credentials.model }}', input: 'test' },
    },
  };
}
