// お気に入り: newest first, so a new favorite is prepended.
import { graphql } from 'react-relay';

export const fragment = graphql`
  fragment MyPageFavorites_patron on Patron
  @argumentDefinitions(count: { type: "Int", defaultValue: 20 }, cursor: { type: "String" })
  @refetchable(queryName: "MyPageFavoritesPaginationQuery") {
    favorites(first: $count, after: $cursor) @connection(key: "MyPageFavorites_favorites") {
      __id
      edges { node { id addedAt title { id title author isFavorite } } }
    }
  }
`;

export const addFavorite = graphql`
  mutation MyPageFavoritesAddMutation($input: AddFavoriteInput!, $connections: [ID!]!) {
    addFavorite(input: $input) {
      errors { code message }
      favoriteEdge @prependEdge(connections: $connections) {
        cursor
        node { id addedAt title { id title author isFavorite } }
      }
    }
  }
`;

export const removeFavorite = graphql`
  mutation MyPageFavoritesRemoveMutation($input: RemoveFavoriteInput!, $connections: [ID!]!) {
    removeFavorite(input: $input) {
      errors { code message }
      removedFavoriteId @deleteEdge(connections: $connections)
    }
  }
`;
