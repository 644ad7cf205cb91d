// Brings @fastify/swagger's schema fields (tags, summary) into route schema types.
import type {} from '@fastify/swagger';
