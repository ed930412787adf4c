// LoCoMo data loading and scoring for bench/eval-locomo.js: no database, no project code.
// The conversations are read at run time from ../shared/data/locomo (never copied into the project).
const fs = require('node:fs');
const path = require('node:path');

const DATA_DIR = path.resolve(__dirname, '..', '..', 'shared', 'data', 'locomo');
const CATEGORIES = [1, 2, 3, 4];
const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];

/** "1:56 pm on 8 May, 2023" -> Date (UTC). Throws on anything else. */
function parseSessionDate(text) {
  const m = /^\s*(\d{1,2}):(\d{2})\s*([ap])\.?m\.?\s+on\s+(\d{1,2})\s+([A-Za-z]+),?\s+(\d{4})\s*$/i.exec(String(text));
  const month = m ? MONTHS.findIndex((name) => name.startsWith(m[5].toLowerCase()) && m[5].length >= 3) : -1;
  if (!m || month < 0) throw new Error(`Cannot parse the LoCoMo session date ${JSON.stringify(text)}`);
  const hour = (Number(m[1]) % 12) + (m[3].toLowerCase() === 'p' ? 12 : 0);
  return new Date(Date.UTC(Number(m[6]), month, Number(m[4]), hour, Number(m[2])));
}

/**
 * Evidence ids of one question: split on ; , and whitespace, 'D:11:26' normalised to 'D11:26',
 * tokens that are no dia_id ('D') dropped, and ids absent from the conversation dropped (they could
 * never be retrieved). Returns the kept ids and what was changed, for the report.
 */
function parseEvidence(evidence, knownIds) {
  const ids = [];
  const notes = { split: 0, normalised: 0, malformed: 0, unknown: 0 };
  for (const entry of Array.isArray(evidence) ? evidence : []) {
    const tokens = String(entry).split(/[;,\s]+/).filter(Boolean);
    if (tokens.length > 1) notes.split += 1;
    for (const token of tokens) {
      const m = /^D:?(\d+):(\d+)$/.exec(token);
      if (!m) {
        notes.malformed += 1;
        continue;
      }
      const id = `D${Number(m[1])}:${Number(m[2])}`;
      if (id !== token) notes.normalised += 1;
      if (knownIds && !knownIds.has(id)) {
        notes.unknown += 1;
        continue;
      }
      if (!ids.includes(id)) ids.push(id);
    }
  }
  return { ids, notes };
}

/** Sessions of a conversation in numeric order: [{ number, date, turns }]. */
function sessionsOf(conversation) {
  return Object.keys(conversation)
    .map((key) => /^session_(\d+)$/.exec(key))
    .filter((m) => m && Array.isArray(conversation[m[0]]))
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b)
    .map((number) => ({ number, date: parseSessionDate(conversation[`session_${number}_date_time`]), turns: conversation[`session_${number}`] }));
}

/** Every conv-*.json under dir, as { file, name, userId, messages, questions, counts }. */
function loadLocomo(dir = DATA_DIR, { only } = {}) {
  if (!fs.existsSync(dir)) {
    throw new Error(`LoCoMo data not found at ${dir}. The evaluation reads ../shared/data/locomo relative to the repository root (see its README); it is not part of the project.`);
  }
  let files = fs.readdirSync(dir).filter((f) => /^conv-.*\.json$/.test(f)).sort();
  if (only && only.length) files = files.filter((f) => only.includes(f.replace(/\.json$/, '')));
  if (files.length === 0) throw new Error(`No conv-*.json file in ${dir}${only ? ` matching ${only.join(', ')}` : ''}.`);
  return files.map((file) => {
    const conversation = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
    const name = String(conversation.sample_id ?? file.replace(/\.json$/, ''));
    const userId = `locomo-${name}`;
    const messages = [];
    for (const session of sessionsOf(conversation)) {
      session.turns.forEach((turn, index) => {
        const caption = turn.blip_caption ? ` [image: ${turn.blip_caption}]` : '';
        messages.push({
          userId,
          // Session ids are global (one owner each), so they carry the user: locomo-conv-26:session_3.
          sessionId: `${userId}:session_${session.number}`,
          // speaker_a is the human side, speaker_b the ai side (both are people; the role only keeps them apart).
          role: turn.speaker === conversation.speaker_b ? 'ai' : 'human',
          content: `${turn.speaker}: ${turn.text}${caption}`,
          timestamp: new Date(session.date.getTime() + index * 1000),
          metadata: { diaId: turn.dia_id, speaker: turn.speaker },
        });
      });
    }
    const knownIds = new Set(messages.map((m) => m.metadata.diaId));
    const evidenceNotes = { split: 0, normalised: 0, malformed: 0, unknown: 0 };
    const questions = [];
    let noEvidence = 0;
    let otherCategory = 0;
    (conversation.qa ?? []).forEach((qa, index) => {
      const category = Number(qa.category);
      if (!CATEGORIES.includes(category)) {
        otherCategory += 1;
        return;
      }
      const { ids, notes } = parseEvidence(qa.evidence, knownIds);
      for (const key of Object.keys(notes)) evidenceNotes[key] += notes[key];
      if (ids.length === 0) {
        noEvidence += 1;
        return;
      }
      questions.push({ file, index, category, question: String(qa.question), evidence: ids });
    });
    return {
      file,
      name,
      userId,
      messages,
      questions,
      counts: {
        sessions: new Set(messages.map((m) => m.sessionId)).size,
        turns: messages.length,
        images: messages.filter((m) => m.content.includes(' [image: ')).length,
        qa: (conversation.qa ?? []).length,
        scored: questions.length,
        skippedNoEvidence: noEvidence,
        skippedCategory: otherCategory,
        evidence: evidenceNotes,
      },
    };
  });
}

/** Rank (1-based) of the first retrieved id in evidence, and whether all evidence is in the top k. */
function scoreQuestion(evidence, retrievedIds) {
  const within = (k) => {
    const top = new Set(retrievedIds.slice(0, k));
    return { any: evidence.some((id) => top.has(id)), all: evidence.every((id) => top.has(id)) };
  };
  const at5 = within(5);
  const at10 = within(10);
  const rank = retrievedIds.findIndex((id) => evidence.includes(id));
  return { any5: at5.any, any10: at10.any, all10: at10.all, firstHitRank: rank < 0 ? null : rank + 1 };
}

/** Nearest-rank percentile of a list of numbers (null when empty). */
function percentile(values, p) {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

const round = (value, digits) => (value === null || value === undefined ? null : Number(value.toFixed(digits)));

/** Figures for one group of scored questions [{ any5, any10, all10, ms, totalMs?, embeddingMs? }]. */
function summarise(rows) {
  const n = rows.length;
  const rate = (key) => (n ? round(rows.filter((r) => r[key]).length / n, 3) : null);
  const ms = rows.map((r) => r.ms);
  const reported = (key) => rows.map((r) => r[key]).filter((v) => typeof v === 'number' && Number.isFinite(v));
  const spread = (values) => (values.length ? { p50: round(percentile(values, 50), 1), p95: round(percentile(values, 95), 1), reported: values.length } : null);
  return {
    count: n,
    recallAny5: rate('any5'),
    recallAny10: rate('any10'),
    recallAll10: rate('all10'),
    latencyMs: { p50: round(percentile(ms, 50), 1), p95: round(percentile(ms, 95), 1), mean: n ? round(ms.reduce((a, b) => a + b, 0) / n, 1) : null },
    // What retrieveContext reports of itself (bundle.stats), when it does.
    statsTotalMs: spread(reported('totalMs')),
    embeddingMs: spread(reported('embeddingMs')),
  };
}

module.exports = { DATA_DIR, CATEGORIES, parseSessionDate, parseEvidence, loadLocomo, scoreQuestion, percentile, summarise };
