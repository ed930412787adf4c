import http from 'node:http';
import { listenOnLoopback } from './loopback';

/**
 * A scripted OpenAI-compatible chat model for tests, on 127.0.0.1 and a random port: each request
 * to /v1/chat/completions is answered by the script (a text, or tool calls), so a real n8n AI Agent
 * can be driven turn by turn. Requests are recorded, so a test sees what the agent sent back (the
 * tool results). Tests must `await server.close()`.
 */
export interface ChatMessage {
  role: string;
  content?: string | Array<{ type: string; text?: string }> | null;
  tool_calls?: Array<{ id: string; function: { name: string; arguments: string } }>;
  tool_call_id?: string;
}

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  tools?: Array<{ type: string; function: { name: string; description?: string; parameters?: unknown } }>;
  stream?: boolean;
}

/** What the model answers: a final text, or calls of tools by name with their arguments. */
export type ChatReply = { text: string } | { toolCalls: Array<{ name: string; arguments: Record<string, unknown> }> };

export interface ScriptedChatServer {
  /** The API root to give as the OpenAI credential's base URL, e.g. http://127.0.0.1:43210/v1. */
  readonly baseUrl: string;
  readonly requests: ChatRequest[];
  close(): Promise<void>;
}

/** The text of a message's content (a string, or text parts). */
export function messageText(message: ChatMessage): string {
  if (typeof message.content === 'string') return message.content;
  return (message.content ?? []).map((part) => part.text ?? '').join('');
}

interface AssistantMessage {
  role: 'assistant';
  content: string | null;
  tool_calls?: Array<{ id: string; type: 'function'; function: { name: string; arguments: string } }>;
}

function assistantMessage(reply: ChatReply, turn: number): AssistantMessage {
  if ('text' in reply) return { role: 'assistant', content: reply.text };
  const toolCalls = reply.toolCalls.map((call, k) => ({ id: `call_${turn}_${k}`, type: 'function' as const, function: { name: call.name, arguments: JSON.stringify(call.arguments) } }));
  return { role: 'assistant', content: null, tool_calls: toolCalls };
}

/** The reply as server-sent events, for a client that asked to stream. */
function streamReply(res: http.ServerResponse, message: AssistantMessage, finish: string): void {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  const chunk = (delta: object, finishReason: string | null) =>
    res.write(`data: ${JSON.stringify({ id: 'chatcmpl-scripted', object: 'chat.completion.chunk', created: 0, model: 'scripted', choices: [{ index: 0, delta, finish_reason: finishReason }] })}\n\n`);
  const toolCalls = message.tool_calls?.map((call, index) => ({ index, ...call }));
  chunk({ role: 'assistant', content: message.content ?? '', ...(toolCalls ? { tool_calls: toolCalls } : {}) }, null);
  chunk({}, finish);
  res.end('data: [DONE]\n\n');
}

export async function startScriptedChatServer(script: (request: ChatRequest, turn: number) => ChatReply): Promise<ScriptedChatServer> {
  const requests: ChatRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
        res.writeHead(404, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ error: { message: `Invalid URL (${req.method} ${req.url})`, type: 'invalid_request_error' } }));
      }
      const request = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ChatRequest;
      requests.push(request);
      const turn = requests.length - 1;
      const message = assistantMessage(script(request, turn), turn);
      const finish = message.tool_calls ? 'tool_calls' : 'stop';
      if (request.stream) return streamReply(res, message, finish);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({
        id: `chatcmpl-scripted-${turn}`,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: request.model,
        choices: [{ index: 0, message, finish_reason: finish }],
        usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
      }));
    });
  });
  const { baseUrl, close } = await listenOnLoopback(server);
  return { baseUrl, requests, close };
}
