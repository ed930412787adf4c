import { createHash } from 'node:crypto';
import { NodeConnectionTypes, NodeOperationError, type IExecuteFunctions } from 'n8n-workflow';
import { LtstError, type Embedder } from '../../src';

/** What every n8n Embeddings sub-node hands over: a LangChain Embeddings object. */
interface LangChainEmbeddings {
  embedDocuments(texts: string[]): Promise<number[][]>;
  embedQuery(text: string): Promise<number[]>;
}

const isEmbeddings = (value: unknown): value is LangChainEmbeddings =>
  typeof (value as LangChainEmbeddings | undefined)?.embedDocuments === 'function' && typeof (value as LangChainEmbeddings).embedQuery === 'function';

/**
 * The n8n Embeddings sub-node on this node's Embedding input, as the core's embedder for a store of
 * `dimensions`. Its vectors are checked here, so a model of the wrong size is named as such.
 */
export async function connectedEmbedder(ctx: IExecuteFunctions, dimensions: number): Promise<Embedder> {
  const supplied = await ctx.getInputConnectionData(NodeConnectionTypes.AiEmbedding, 0);
  const embeddings = Array.isArray(supplied) ? supplied[0] : supplied;
  if (!isEmbeddings(embeddings)) {
    throw new NodeOperationError(ctx.getNode(), 'No Embeddings sub-node is connected to the Embedding input', {
      description: 'Connect an n8n Embeddings node (for example Embeddings OpenAI or Embeddings Ollama) to the Embedding input, or set Embeddings to Local Model.',
    });
  }
  // The sub-node and its settings name the vectors, so cached retrievals of another model are not reused.
  const [source] = ctx.getParentNodes(ctx.getNode().name, { connectionType: NodeConnectionTypes.AiEmbedding, depth: 1, includeNodeParameters: true });
  const settings = createHash('sha256').update(JSON.stringify(source?.parameters ?? {})).digest('hex').slice(0, 12);
  const checked = (vectors: number[][]) => {
    const wrong = vectors.find((vector) => vector.length !== dimensions);
    if (wrong) {
      throw new LtstError('DIMENSION_MISMATCH', `The connected Embeddings sub-node returns ${wrong.length} numbers per text; this memory stores ${dimensions}`, {
        field: 'embeddings',
        hint: `Choose a model (or its Dimensions option) that gives ${dimensions} numbers, or use a memory credential with Embedding Dimension ${wrong.length} and a new schema.`,
      });
    }
    return vectors;
  };
  return {
    id: `n8n:${source?.type ?? 'embeddings'}:${settings}`,
    dimensions,
    embed: async (texts) => checked(await embeddings.embedDocuments(texts)),
    embedQuery: async (text) => checked([await embeddings.embedQuery(text)])[0],
  };
}
