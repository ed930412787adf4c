import type { ContextEntry } from '../memory/context-entries';
import type { Preference } from '../memory/preferences';
import { estimateTokens } from './scoring';

export interface PromptMessage {
  role: string;
  content: string;
  timestamp: string | Date;
}

export interface PromptParts {
  preferences: Preference[];
  context: ContextEntry[];
  /** Best first. */
  relevant: PromptMessage[];
  /** Oldest first. */
  recent: PromptMessage[];
}

const day = (timestamp: string | Date) => new Date(timestamp).toISOString().slice(0, 10);

/**
 * One text block for an LLM prompt within `budget` estimated tokens. Lines are admitted by
 * priority (preferences, then context, then relevant memories best first, then the recent
 * conversation newest first); a line that does not fit is left out and smaller ones may still
 * fit. Sections are then printed in reading order, the recent conversation oldest first.
 */
export function renderPrompt(parts: PromptParts, budget: number): { prompt: string; tokens: number } {
  const sections = [
    { title: 'User preferences', lines: parts.preferences.map((p) => `- ${p.key}: ${p.value}`) },
    { title: 'Context', lines: parts.context.map((c) => `- ${c.type}/${c.key}: ${c.value}`) },
    { title: 'Relevant memories', lines: parts.relevant.map((m) => `- [${day(m.timestamp)}] ${m.role}: ${m.content}`) },
    { title: 'Recent conversation', lines: [...parts.recent].reverse().map((m) => `${m.role}: ${m.content}`), newestFirst: true },
  ];
  let used = 0;
  const kept = sections.map((section) => {
    const header = estimateTokens(`## ${section.title}\n`);
    const lines: string[] = [];
    for (const line of section.lines) {
      const cost = estimateTokens(`${line}\n`) + (lines.length === 0 ? header : 0);
      if (used + cost > budget) continue;
      used += cost;
      lines.push(line);
    }
    return { title: section.title, lines: section.newestFirst ? lines.reverse() : lines };
  });
  const prompt = kept
    .filter((section) => section.lines.length > 0)
    .map((section) => `## ${section.title}\n${section.lines.join('\n')}`)
    .join('\n\n');
  return { prompt, tokens: estimateTokens(prompt) };
}
