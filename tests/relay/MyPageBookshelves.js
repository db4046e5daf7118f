// My本棚: shelves (oldest first: a new one is appended) and their entries (newest first).
import { graphql } from 'react-relay';

export const fragment = graphql`
  fragment MyPageBookshelves_patron on Patron {
    bookshelves(first: 20) @connection(key: "MyPageBookshelves_bookshelves") {
      __id
      edges { node { ...MyPageBookshelves_shelf } }
    }
  }
`;

export const shelf = graphql`
  fragment MyPageBookshelves_shelf on Bookshelf
  @argumentDefinitions(count: { type: "Int", defaultValue: 50 }, cursor: { type: "String" })
  @refetchable(queryName: "MyPageBookshelvesEntriesPaginationQuery") {
    id
    name
    updatedAt
    entries(first: $count, after: $cursor) @connection(key: "MyPageBookshelves_entries") {
      __id
      totalCount
      edges { node { id addedAt title { id title } } }
    }
  }
`;

export const createBookshelf = graphql`
  mutation MyPageBookshelvesCreateMutation($input: CreateBookshelfInput!, $connections: [ID!]!) {
    createBookshelf(input: $input) {
      errors { code field message }
      bookshelfEdge @appendEdge(connections: $connections) { cursor node { ...MyPageBookshelves_shelf } }
    }
  }
`;

export const renameBookshelf = graphql`
  mutation MyPageBookshelvesRenameMutation($input: RenameBookshelfInput!) {
    renameBookshelf(input: $input) {
      errors { code field message }
      bookshelf { id name updatedAt }
    }
  }
`;

export const deleteBookshelf = graphql`
  mutation MyPageBookshelvesDeleteMutation($input: DeleteBookshelfInput!, $connections: [ID!]!) {
    deleteBookshelf(input: $input) {
      errors { code message }
      deletedBookshelfId @deleteEdge(connections: $connections)
    }
  }
`;

export const addToBookshelf = graphql`
  mutation MyPageBookshelvesAddMutation($input: AddToBookshelfInput!, $connections: [ID!]!) {
    addToBookshelf(input: $input) {
      errors { code message }
      bookshelf { id updatedAt }
      entryEdge @prependEdge(connections: $connections) { cursor node { id addedAt title { id title } } }
    }
  }
`;

export const removeFromBookshelf = graphql`
  mutation MyPageBookshelvesRemoveMutation($input: RemoveFromBookshelfInput!, $connections: [ID!]!) {
    removeFromBookshelf(input: $input) {
      errors { code message }
      bookshelf { id updatedAt }
      removedEntryId @deleteEdge(connections: $connections)
    }
  }
`;
