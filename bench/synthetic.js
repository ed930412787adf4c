// The synthetic corpus the benchmarks share: made-up words in topics, users with a few topics each,
// sessions spread over a year, and a fast deterministic embedder, so every system under test gets
// the same texts and the same vectors and embedding time never blurs a storage figure.
const DIMENSIONS = 384;
const TOPICS = 100;
const WORDS_PER_TOPIC = 30;
const GENERAL_WORDS = 500;
const TOPICS_PER_USER = 4;

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a, 32 bits. */
function hash32(text, seed = 0x811c9dc5) {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i += 1) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

const STOP = new Set('a an the and or but of to in on at for with about from by is are was were be been it this that i you we they he she my your our me us so just really also then than very some any what when how'.split(' '));

/**
 * Bag of words hashed into 384 dimensions (each word adds +-1 on 3 seeded positions), L2
 * normalised: texts sharing words are near in cosine, unrelated texts near orthogonal. Deterministic
 * and about a microsecond per word, so stats.embeddingMs is ~0 and the search dominates.
 */
function hashingEmbedder(dimensions = DIMENSIONS) {
  const cache = new Map();
  const slots = (word) => {
    let s = cache.get(word);
    if (!s) {
      s = [];
      for (let k = 0; k < 3; k += 1) {
        const h = hash32(word, 0x811c9dc5 ^ (k * 0x9e3779b1));
        s.push([h % dimensions, h & 0x80000000 ? -1 : 1]);
      }
      cache.set(word, s);
    }
    return s;
  };
  return {
    id: `bench:bow-hash-${dimensions}`,
    dimensions,
    async embed(texts) {
      return texts.map((text) => {
        const v = new Float64Array(dimensions);
        for (const word of String(text).toLowerCase().match(/[a-z]+/g) ?? []) {
          if (STOP.has(word)) continue;
          for (const [i, sign] of slots(word)) v[i] += sign;
        }
        let norm = 0;
        for (let i = 0; i < dimensions; i += 1) norm += v[i] * v[i];
        norm = Math.sqrt(norm);
        if (norm === 0) {
          v[hash32(String(text)) % dimensions] = 1;
          norm = 1;
        }
        return Array.from(v, (x) => Number((x / norm).toFixed(6)));
      });
    },
  };
}

const ONSETS = ['b', 'c', 'd', 'f', 'g', 'h', 'j', 'k', 'l', 'm', 'n', 'p', 'r', 's', 't', 'v', 'w', 'z', 'br', 'cl', 'dr', 'gr', 'pl', 'st', 'tr', 'sh', 'ch'];
const VOWELS = ['a', 'e', 'i', 'o', 'u', 'ai', 'ou', 'ea'];
const CODAS = ['', '', '', 'n', 'r', 'l', 'm', 'x', 'nd', 'rt'];
const FILLER = ['the', 'and', 'about', 'with', 'for', 'my', 'our', 'we', 'i', 'you', 'it', 'so', 'then', 'really', 'also', 'some'];

function vocabulary(random) {
  const seen = new Set(STOP);
  const word = () => {
    for (;;) {
      const syllables = 2 + Math.floor(random() * 2);
      let w = '';
      for (let s = 0; s < syllables; s += 1) w += ONSETS[Math.floor(random() * ONSETS.length)] + VOWELS[Math.floor(random() * VOWELS.length)];
      w += CODAS[Math.floor(random() * CODAS.length)];
      if (!seen.has(w)) {
        seen.add(w);
        return w;
      }
    }
  };
  const topics = Array.from({ length: TOPICS }, () => Array.from({ length: WORDS_PER_TOPIC }, word));
  const general = Array.from({ length: GENERAL_WORDS }, word);
  return { topics, general, size: TOPICS * WORDS_PER_TOPIC + GENERAL_WORDS };
}

const pick = (random, list) => list[Math.floor(random() * list.length)];

function makeUsers(args, random) {
  const yearMs = 365 * 86_400_000;
  const now = Date.now();
  // Besides the many small users, a few large ones: past the exact-search threshold, retrieveContext
  // searches them through the HNSW index.
  return Array.from({ length: args.users + args.bigUsers }, (_, u) => {
    const big = u >= args.users;
    const topics = [];
    while (topics.length < TOPICS_PER_USER) {
      const t = Math.floor(random() * TOPICS);
      if (!topics.includes(t)) topics.push(t);
    }
    const userId = big ? `bench-big-${u - args.users}` : `bench-user-${String(u).padStart(5, '0')}`;
    const sessions = Array.from({ length: args.sessions }, (_, s) => ({
      sessionId: `${userId}-s${s}`,
      focus: topics[s % topics.length],
      start: now - yearMs + Math.floor(random() * (yearMs - 86_400_000)),
    }));
    return { userId, topics, sessions, big, perUser: big ? args.bigPerUser : args.perUser };
  });
}

function sentence(random, vocab, user, focus, min, max) {
  const length = min + Math.floor(random() * (max - min + 1));
  const words = [];
  for (let i = 0; i < length; i += 1) {
    const r = random();
    if (r < 0.55) words.push(pick(random, vocab.topics[focus]));
    else if (r < 0.7) words.push(pick(random, vocab.topics[pick(random, user.topics)]));
    else if (r < 0.85) words.push(pick(random, vocab.general));
    else words.push(pick(random, FILLER));
  }
  return words.join(' ');
}

/** The user's messages: per-user spread over the sessions, 45 s apart within a session. */
function userMessages(random, vocab, user, perUser) {
  const out = [];
  const n = user.sessions.length;
  user.sessions.forEach((session, s) => {
    const count = Math.floor(perUser / n) + (s < perUser % n ? 1 : 0);
    for (let i = 0; i < count; i += 1) {
      out.push({
        userId: user.userId,
        sessionId: session.sessionId,
        role: i % 2 === 0 ? 'human' : 'ai',
        content: sentence(random, vocab, user, session.focus, 6, 22),
        timestamp: new Date(session.start + i * 45_000),
      });
    }
  });
  return out;
}

const queryFor = (random, vocab, user) => sentence(random, vocab, user, pick(random, user.topics), 3, 6);

module.exports = { DIMENSIONS, TOPICS, TOPICS_PER_USER, mulberry32, hash32, hashingEmbedder, vocabulary, makeUsers, sentence, userMessages, queryFor, pick };
