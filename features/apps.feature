@apps
Feature: Applications: CreateApplication, DescribeApplication, ListApplications, DeleteApplication
  The official metadata: CreateApplication takes a JSON Template and answers an AppId;
  DescribeApplication answers the application as a JSON string (Application);
  ListApplications answers Applications.Application[].AppList.App[] with AppId and AppInfo, and
  PageNumber, PageSize and TotalCount; DeleteApplication releases the application asynchronously.
  {region1}, {region2}, … are the target's edge nodes (discovered).

  Background:
    Given the target's regions are known

  @core
  Scenario: CreateApplication answers an AppId
    When I create an application with the instances:
      | region    | count |
      | {region1} | 1     |
    Then the request succeeds
    And the answer has a non-empty AppId string

  @core @validation
  Scenario: Template is required by CreateApplication
    When I call CreateApplication without the Template parameter
    Then the request fails with HTTP 400 and code "MissingParameter" or "MissingTemplate" or "InvalidParameter.Template"

  @extended @validation
  Scenario: an absent Template answers exactly MissingParameter
    When I call CreateApplication without the Template parameter
    Then the request fails with HTTP 400 and code "MissingParameter"

  @core @validation
  Scenario Outline: <parameter> is required by <action>
    When I call <action> without the <parameter> parameter
    Then the request fails with HTTP 400 and code "MissingParameter" or "Missing<parameter>" or "InvalidParameter.<parameter>"

    Examples:
      | action              | parameter |
      | DescribeApplication | AppId     |
      | DeleteApplication   | AppId     |

  @core @validation
  Scenario: Level takes only the documented values
    Given an application with the instances:
      | region    | count |
      | {region1} | 1     |
    When I call DescribeApplication with:
      | Level | Planet |
    Then the request fails with HTTP 400 and an InvalidParameter code

  @core
  Scenario: DescribeApplication answers the application as a JSON string
    Given an application with the instances:
      | region    | count |
      | {region1} | 1     |
    When I call DescribeApplication with:
      | Level | RegionId |
    Then the request succeeds
    And the Application is a JSON string

  @core
  Scenario: a created application is listed with its AppId
    Given an application with the instances:
      | region    | count |
      | {region1} | 1     |
    When I call ListApplications with:
      | PageNumber | 1   |
      | PageSize   | 100 |
    Then the request succeeds
    And the answer has the integers PageNumber, PageSize and TotalCount
    And the application is listed with an AppInfo string

  @extended
  Scenario: the application owns the instances its template asks for
    Given the target has at least 2 regions
    And an application with the instances:
      | region    | count |
      | {region1} | 2     |
      | {region2} | 1     |
    Then the application has 2 instances in "{region1}" and 1 in "{region2}"

  @extended @validation @strict
  Scenario: a strict mock refuses a Template without appMetaData.appName (an ensmock limit) with InvalidParameter.Template
    When I call CreateApplication with:
      | Template | {"appMetaData":{"clusterName":"poc"},"resourceSelector":[{"count":1}]} |
    Then the request fails with HTTP 400 and code "InvalidParameter.Template"

  @extended @validation @strict
  Scenario: a strict mock refuses a Template that asks for an unknown edge node (an ensmock limit) with InvalidParameter.Template
    When I call CreateApplication with:
      | Template | {"appMetaData":{"appName":"x"},"resourceSelector":[{"regionCode":"{unknown-region}","count":1}]} |
    Then the request fails with HTTP 400 and code "InvalidParameter.Template"

  @extended
  Scenario: DeleteApplication releases the application: then the AppId is gone
    Given an application with the instances:
      | region    | count |
      | {region1} | 1     |
    When I delete the application
    Then the request succeeds
    When the application has been deleted
    And I call DescribeApplication with:
      | Level | National |
    Then the request fails with HTTP 400 and code "InvalidParameter.AppId"

  @extended
  Scenario: a deleted application is no longer listed
    Given an application with the instances:
      | region    | count |
      | {region1} | 1     |
    When I delete the application
    And the application has been deleted
    And I call ListApplications with:
      | ClusterNames | All |
    Then the request succeeds
    And the application is not listed

  @extended
  Scenario: DeleteApplication of an AppId that never existed answers InvalidParameter.AppId
    When I call DeleteApplication with:
      | AppId | {never-created} |
    Then the request fails with HTTP 400 and code "InvalidParameter.AppId"
